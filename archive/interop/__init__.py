"""The heritage ecosystem's languages: IIIF (iiif/), OAI-PMH with Dublin Core and EDM (oai/), the REST API
(api/) and the Activity Streams change feed (feed.py). Every object they expose comes through
archive.access, like the portal's."""
