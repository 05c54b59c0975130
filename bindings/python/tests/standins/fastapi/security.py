class APIKeyHeader:
    def __init__(self, name, auto_error=True):
        self.model_name = name
        self.auto_error = auto_error
