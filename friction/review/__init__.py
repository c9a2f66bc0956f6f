"""The review desk: payments a person decides on, and the customer's right to ask for one.

- ``intake`` — where items open: a ``review`` decision, a dialogue ending in
  ``review``, and the contest mark set at each automatic decline.
- ``desk`` — ``ReviewDesk``: list, show, assign, resolve, and the SMS contest path.
- ``transcript`` — a dialogue's turns as the customer saw them.
- ``schemas`` — the HTTP bodies of ``/v1/reviews``.
"""
