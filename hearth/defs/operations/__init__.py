"""Operations: the landing sensor, the monthly schedule and the stopped-run alert."""
