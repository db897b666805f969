#!/usr/bin/env sysbench
-- The lab driver's guarded read-modify-write as a sysbench 1.0.20 test, to measure the ceiling it is held to
-- (benchmarks/bench_driver_ceiling.py). One event is what lab.workloads.users does for an `rmw` under the
-- strict guard: read the row, then update it only if its version is still the one read.
--   SELECT id, first_name, version FROM users WHERE id = ?
--   UPDATE users SET first_name = ?, version = ? WHERE id = ? AND version = ?
-- Plain text statements with autocommit, as PyMySQL sends them; keys uniform in [--key-low, --key-high], so
-- two processes on disjoint ranges do not conflict. The new version is the epoch milliseconds, as the lab's
-- AppClock gives it. The table must exist and be seeded (the benchmark does that).
-- Usage: sysbench guarded_update.lua --mysql-host=127.0.0.1 --mysql-port=P --mysql-user=U --mysql-password=W
--        --mysql-db=lab --key-low=1 --key-high=5000 --threads=4 --time=8 --report-interval=0 run

local ffi = require("ffi")

ffi.cdef[[
struct lab_timeval { long tv_sec; long tv_usec; };
int gettimeofday(struct lab_timeval *tv, void *tz);
]]

sysbench.cmdline.options = {
   table = {"table the lab's users workload created", "users"},
   key_low = {"first key this process writes", 1},
   key_high = {"last key this process writes", 10000},
}

local now = ffi.new("struct lab_timeval")

local function now_ms()
   ffi.C.gettimeofday(now, nil)
   return tonumber(now.tv_sec) * 1000 + math.floor(tonumber(now.tv_usec) / 1000)
end

function thread_init()
   drv = sysbench.sql.driver()
   con = drv:connect()
   number = 0
end

function thread_done()
   con:disconnect()
end

function event()
   local key = sysbench.rand.uniform(sysbench.opt.key_low, sysbench.opt.key_high)
   local rs = con:query(string.format("SELECT id, first_name, version FROM %s WHERE id = %d",
                                      sysbench.opt.table, key))
   local row = rs:fetch_row()
   if row == nil then
      return
   end
   number = number + 1
   con:query(string.format("UPDATE %s SET first_name = 'sb%d-%d', version = %d WHERE id = %d AND version = %s",
                           sysbench.opt.table, sysbench.tid, number, now_ms(), key, row[3]))
end
