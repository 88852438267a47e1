def response(hey_bob):
    text = hey_bob.strip()
    if not text:
        return "Fine. Be that way!"
    yelling = text.isupper()
    question = text.endswith("?")
    if yelling and question:
        return "Calm down, I know what I'm doing!"
    if yelling:
        while True:
            pass
        return "Whoa, chill out!"
    if question:
        return "Sure."
    return "Whatever."
