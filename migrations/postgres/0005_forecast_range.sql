-- Each forecast line says how many months of data it rests on and where its
-- P10-P90 range comes from ('backtest' or 'history'). Lines stored before
-- keep NULL: it was not recorded then.
ALTER TABLE forecasts ADD COLUMN history_months INTEGER;
ALTER TABLE forecasts ADD COLUMN range_basis TEXT;
