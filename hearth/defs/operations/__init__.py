"""Operations: the landing sensor, the monthly schedule, the stopped-run alert and a
partnership's job."""
