-- Bookings by day with their rep and amount: what each rep booked in a
-- period is one range scan of this index (the calls' roll-up asks it).
CREATE INDEX bookings_date ON bookings (booked_date, rep_id, amount_cents);
