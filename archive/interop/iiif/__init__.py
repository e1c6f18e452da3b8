"""IIIF for the archive (mounted at /iiif/ in config/urls.py).

- Image API 3.0, level 2, for every ready image access copy and thumbnail: ``/iiif/image/<asset uuid>``
  (303 to ``info.json``), ``/iiif/image/<uuid>/<region>/<size>/<rotation>/<quality>.<format>``; rendered
  with Pillow from the access copy (never a master or an original), cached on disk (cache.py).
- Presentation API 3.0: ``/iiif/<identifier>/manifest`` per object, ``/iiif/collection/<slug>`` per
  collection, ``/iiif/collection`` for the collections with visible objects.
Access comes from archive.access alone, as for every other path (DESIGN §6).
"""
