def leap_year(year):
    print("checking", year)
    return year % 4 == 0
