"""OAI-PMH 2.0 data provider at /oai: protocol.py (arguments, dates, errors), tokens.py (signed resumption
tokens), repository.py (items, datestamps and sets from the public change log), formats.py (oai_dc and
EDM), responses.py (the XML), verbs.py (the six verbs), views.py (HTTP)."""
