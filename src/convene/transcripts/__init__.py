"""Meeting transcripts: export formats (:mod:`convene.transcripts.export`) and the retention
purge (:mod:`convene.transcripts.retention`). Storage is :mod:`convene.storage.transcripts`;
the REST API is :mod:`convene.api.transcripts`."""
