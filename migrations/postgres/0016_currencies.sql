-- Amounts in another currency than the organisation's: the row's ISO 4217
-- code (NULL: the organisation's), and dated exchange rates.
ALTER TABLE opportunities ADD COLUMN currency TEXT;
ALTER TABLE bookings ADD COLUMN currency TEXT;
ALTER TABLE quotas ADD COLUMN currency TEXT;

-- Units of the organisation's currency per unit of `currency`, from
-- `from_date` on (until the next row of the same currency). The rate is an
-- exact decimal, kept as text.
CREATE TABLE fx_rates (
    currency  TEXT NOT NULL,
    from_date DATE NOT NULL,
    rate      TEXT NOT NULL,
    PRIMARY KEY (currency, from_date)
);
