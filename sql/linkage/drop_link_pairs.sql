-- What predicting left behind (hearth/linkage/splink_model.py: predict's cleanup).
DROP TABLE IF EXISTS link_pairs;
DROP TABLE IF EXISTS link_records_part;
