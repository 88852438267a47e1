import unittest

import pytest

from bob import response


class BobTest(unittest.TestCase):
    @pytest.mark.task(taskno=1)
    def test_stating_something(self):
        self.assertEqual(response("Tom-ay-to, tom-aaaah-to."), "Whatever.")

    @pytest.mark.task(taskno=2)
    def test_shouting(self):
        self.assertEqual(response("WATCH OUT!"), "Whoa, chill out!")

    @pytest.mark.task(taskno=1)
    def test_asking_a_question(self):
        self.assertEqual(response("Does this cryogenic chamber make me look fat?"), "Sure.")

    def test_forceful_question(self):
        self.assertEqual(response("WHAT'S GOING ON?"), "Calm down, I know what I'm doing!")

    def test_silence(self):
        self.assertEqual(response(""), "Fine. Be that way!")

    def test_prolonged_silence(self):
        self.assertEqual(response("          "), "Fine. Be that way!")
