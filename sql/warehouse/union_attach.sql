-- One warehouse of a union attached, read only (hearth/warehouse.py: union_of).
ATTACH $path AS {part} (READ_ONLY)
