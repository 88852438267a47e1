def two_fer(name=None):
    return f"One for {name}, one for me."
