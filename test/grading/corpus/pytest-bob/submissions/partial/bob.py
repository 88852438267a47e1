def response(hey_bob):
    print("thinking about:", hey_bob)
    if hey_bob.strip().endswith("?"):
        return "Sure."
    return "Whatever."
