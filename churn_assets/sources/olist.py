"""placeholder"""
DESCRIPTION = "olist"

def prepare(con, input_dir, report, mapping):
    raise NotImplementedError
