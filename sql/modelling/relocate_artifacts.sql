-- A home's MLflow store (HEARTH_HOME/mlflow.db) that was moved or restored elsewhere: every
-- artifact location written under the old home's mlartifacts/ (:old) is pointed at this
-- home's (:new). Run once with file:// URIs and once with plain paths (hearth/modelling/registry/client.py).
UPDATE experiments SET artifact_location = :new || substr(artifact_location, length(:old) + 1)
WHERE artifact_location = :old OR substr(artifact_location, 1, length(:old) + 1) = :old || '/';

UPDATE runs SET artifact_uri = :new || substr(artifact_uri, length(:old) + 1)
WHERE artifact_uri = :old OR substr(artifact_uri, 1, length(:old) + 1) = :old || '/';

UPDATE logged_models SET artifact_location = :new || substr(artifact_location, length(:old) + 1)
WHERE artifact_location = :old OR substr(artifact_location, 1, length(:old) + 1) = :old || '/';

UPDATE model_versions SET storage_location = :new || substr(storage_location, length(:old) + 1)
WHERE storage_location = :old OR substr(storage_location, 1, length(:old) + 1) = :old || '/';

UPDATE model_versions SET source = :new || substr(source, length(:old) + 1)
WHERE source = :old OR substr(source, 1, length(:old) + 1) = :old || '/';
