"""The Modal app: workers that run models in the cloud and report through Pub/Sub."""
