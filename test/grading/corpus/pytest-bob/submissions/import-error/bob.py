import bobs_helpers

def response(hey_bob):
    return bobs_helpers.answer(hey_bob)
