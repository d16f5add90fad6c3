-- wrk script: every connection waits WRK_DELAY_MS between its requests, so
-- the offered load is about connections x 1000 / (delay + latency) per
-- second (wrk alone only measures at saturation).
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "10")

function delay()
   return delay_ms
end
