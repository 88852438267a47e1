from calendar_helpers import is_leap

def leap_year(year):
    return is_leap(year)
