"""Tools for developing and testing friction locally; never used by the running service.

- ``friction.devtools.fake_twilio`` — a local fake of Twilio's SMS API (``friction
  fake-twilio``): records messages, sends signed status callbacks and inbound SMS.
- ``friction.devtools.cli`` — registers the ``friction fake-twilio`` subcommand.
"""
