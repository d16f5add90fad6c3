-- Further measures a comp plan may credit instead of the booked amount:
-- gross margin and annual contract value, in cents of the row's currency
-- (NULL: the row does not say).
ALTER TABLE opportunities ADD COLUMN margin_cents INTEGER;
ALTER TABLE opportunities ADD COLUMN acv_cents INTEGER;
ALTER TABLE bookings ADD COLUMN margin_cents INTEGER;
ALTER TABLE bookings ADD COLUMN acv_cents INTEGER;
