"""placeholder"""
DESCRIPTION = "online_retail_ii"

def prepare(con, input_dir, report, mapping):
    raise NotImplementedError
