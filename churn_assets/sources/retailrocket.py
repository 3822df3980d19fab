"""placeholder"""
DESCRIPTION = "retailrocket"

def prepare(con, input_dir, report, mapping):
    raise NotImplementedError
