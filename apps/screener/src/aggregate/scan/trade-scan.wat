;; The trades hot loop of BarAggregator for batch replay, compiled by wabt at build time
;; (build/wat.ts). It handles only the common case (a trade in the open minute of an instrument
;; whose symbol is already resolved for the day) and stops at the first record it cannot handle,
;; which the aggregator then takes through its general path in JavaScript. The OHLCV rule and the
;; memory layout are stated in layout.ts; the literals marked `;; header.x`, `;; row.x` and
;; `;; trade.x` are its offsets (and dbn's TradeMsg's), checked by layout.test.ts.
(module
  (import "env" "memory" (memory 1))

  ;; scan(p, end, rows, slotById, symDay, symVersion, touched, touchedCap) -> the byte address of
  ;; the first record from $p it cannot handle, or $end. $p..$end holds whole, validated records
  ;; (dbn's batches, copied in); the other params are the addresses of the shared arrays.
  (func (export "scan")
    (param $p i32) (param $end i32) (param $rows i32) (param $slotById i32)
    (param $symDay i32) (param $symVersion i32) (param $touched i32) (param $touchedCap i32)
    (result i32)
    ;; the record at $p
    (local $head i32) (local $next i32) (local $rtype i32) (local $id i32)
    (local $offset i64) (local $price i64)
    (local $offsetF f64) (local $priceF f64) (local $size f64) (local $stamp f64)
    ;; its instrument's row
    (local $slot i32) (local $row i32) (local $last f64) (local $extreme f64)
    ;; header values, kept in locals for the loop and written back at the end
    (local $minuteStart i64) (local $window i64) (local $stampBase f64) (local $clock f64)
    (local $touchedCount i32) (local $day i32) (local $version i32)
    (local $records i32) (local $aggregated i32) (local $undefinedPrices i32)

    (local.set $minuteStart (i64.load offset=40 (i32.const 0)))             ;; header.minuteStart
    ;; No minute open: an empty window, so every trade stops the scan.
    (local.set $window
      (select (i64.const 60000000000) (i64.const 0)
        (i32.load offset=48 (i32.const 0))))                               ;; header.minuteOpen
    (local.set $stampBase (f64.load offset=8 (i32.const 0)))               ;; header.stampBase
    (local.set $clock (f64.load offset=0 (i32.const 0)))                   ;; header.streamOffsetNs
    (local.set $touchedCount (i32.load offset=16 (i32.const 0)))           ;; header.touchedCount
    (local.set $day (i32.load offset=20 (i32.const 0)))                    ;; header.day
    (local.set $version (i32.load offset=24 (i32.const 0)))                ;; header.mappingVersion

    (block $stop
      (loop $record
        (br_if $stop (i32.ge_u (local.get $p) (local.get $end)))
        ;; Word 0: length in 4-byte words, rtype, publisher_id.
        (local.set $head (i32.load (local.get $p)))
        (local.set $next
          (i32.add (local.get $p)
            (i32.shl (i32.and (local.get $head) (i32.const 0xff)) (i32.const 2))))
        ;; A record running past $end is left to the caller (the rest of it is not copied in).
        (br_if $stop (i32.gt_u (local.get $next) (local.get $end)))
        (local.set $rtype (i32.and (i32.shr_u (local.get $head) (i32.const 8)) (i32.const 0xff)))

        ;; Not a trade (rtype 0): a system message stops the scan (it may move the clock), a
        ;; symbol mapping makes every cached symbol stale, anything else is skipped.
        (if (local.get $rtype)
          (then
            (br_if $stop (i32.eq (local.get $rtype) (i32.const 0x17)))     ;; RType.SYSTEM
            (local.set $version
              (i32.add (local.get $version)
                (i32.eq (local.get $rtype) (i32.const 0x16))))             ;; RType.SYMBOL_MAPPING
            (local.set $p (local.get $next))
            (br $record)))

        ;; A trade is in the open minute when ts_recv - start (unsigned) is below the window.
        (local.set $offset
          (i64.sub (i64.load offset=32 (local.get $p)) (local.get $minuteStart))) ;; trade.tsRecv
        (br_if $stop (i64.ge_u (local.get $offset) (local.get $window)))
        (local.set $offsetF (f64.convert_i64_s (local.get $offset)))
        (local.set $price (i64.load offset=16 (local.get $p)))             ;; trade.price

        (if (i64.eq (local.get $price) (i64.const 0x7fffffffffffffff))    ;; UNDEF_PRICE
          (then
            (local.set $undefinedPrices (i32.add (local.get $undefinedPrices) (i32.const 1))))
          (else
            ;; Integer 1e-9 units, exact below 2^53 (rounded to nearest above, as JS would).
            (local.set $priceF (f64.convert_i64_s (local.get $price)))
            (local.set $size
              (f64.convert_i32_u (i32.load offset=24 (local.get $p))))      ;; trade.size
            (local.set $id (i32.load offset=4 (local.get $p)))             ;; trade.instrumentId
            ;; slot = id < DIRECT_IDS ? slotById[id] : 0 (the load stays in range either way).
            (local.set $slot
              (select
                (i32.load
                  (i32.add (local.get $slotById)
                    (i32.shl (i32.and (local.get $id) (i32.const 0x3fffff)) (i32.const 2))))
                (i32.const 0)
                (i32.lt_u (local.get $id) (i32.const 0x400000))))           ;; DIRECT_IDS
            (local.set $row
              (i32.add (local.get $rows)
                (i32.mul (local.get $slot) (i32.const 72))))                ;; ROW_BYTES
            (local.set $last (f64.load offset=40 (local.get $row)))        ;; row.Last
            (local.set $stamp (f64.add (local.get $stampBase) (local.get $offsetF)))

            (if (f64.ge (local.get $last) (local.get $stampBase))
              (then
                ;; The instrument's bar of this minute goes on. select, not f64.max/min: those
                ;; handle NaN and -0 with branches (no price is either).
                (f64.store offset=8 (local.get $row)                       ;; row.High
                  (select (local.get $priceF)
                    (local.tee $extreme (f64.load offset=8 (local.get $row))) ;; row.High
                    (f64.gt (local.get $priceF) (local.get $extreme))))
                (f64.store offset=16 (local.get $row)                      ;; row.Low
                  (select (local.get $priceF)
                    (local.tee $extreme (f64.load offset=16 (local.get $row))) ;; row.Low
                    (f64.lt (local.get $priceF) (local.get $extreme))))
                (if (f64.ge (local.get $stamp) (local.get $last))
                  (then
                    (f64.store offset=24 (local.get $row) (local.get $priceF)) ;; row.Close
                    (f64.store offset=40 (local.get $row) (local.get $stamp))) ;; row.Last
                  (else
                    (if (f64.lt (local.get $stamp)
                          (f64.load offset=32 (local.get $row)))           ;; row.First
                      (then
                        (f64.store offset=0 (local.get $row) (local.get $priceF)) ;; row.Open
                        (f64.store offset=32 (local.get $row) (local.get $stamp)))))) ;; row.First
                (f64.store offset=48 (local.get $row)                      ;; row.Volume
                  (f64.add (f64.load offset=48 (local.get $row)) (local.get $size))) ;; row.Volume
                (f64.store offset=56 (local.get $row)                      ;; row.Count
                  (f64.add (f64.load offset=56 (local.get $row)) (f64.const 1))) ;; row.Count
                (f64.store offset=64 (local.get $row)                      ;; row.PriceVolume
                  (f64.add (f64.load offset=64 (local.get $row))           ;; row.PriceVolume
                    (f64.mul (local.get $priceF) (local.get $size)))))
              (else
                ;; The instrument's first trade this minute (slot 0: an id not seen yet). Its
                ;; symbol must be resolved for this day and mapping version, and the touched
                ;; list must have room; else the general path takes it.
                (br_if $stop
                  (i32.ne (local.get $day)
                    (i32.load (i32.add (local.get $symDay)
                      (i32.shl (local.get $slot) (i32.const 2))))))
                (br_if $stop
                  (i32.ne (local.get $version)
                    (i32.load (i32.add (local.get $symVersion)
                      (i32.shl (local.get $slot) (i32.const 2))))))
                (br_if $stop (i32.eq (local.get $touchedCount) (local.get $touchedCap)))
                (f64.store offset=0 (local.get $row) (local.get $priceF))  ;; row.Open
                (f64.store offset=8 (local.get $row) (local.get $priceF))  ;; row.High
                (f64.store offset=16 (local.get $row) (local.get $priceF)) ;; row.Low
                (f64.store offset=24 (local.get $row) (local.get $priceF)) ;; row.Close
                (f64.store offset=32 (local.get $row) (local.get $stamp))  ;; row.First
                (f64.store offset=40 (local.get $row) (local.get $stamp))  ;; row.Last
                (f64.store offset=48 (local.get $row) (local.get $size))   ;; row.Volume
                (f64.store offset=56 (local.get $row) (f64.const 1))       ;; row.Count
                (f64.store offset=64 (local.get $row)                      ;; row.PriceVolume
                  (f64.mul (local.get $priceF) (local.get $size)))
                (i32.store
                  (i32.add (local.get $touched) (i32.shl (local.get $touchedCount) (i32.const 2)))
                  (local.get $slot))
                (local.set $touchedCount (i32.add (local.get $touchedCount) (i32.const 1)))))
            (local.set $aggregated (i32.add (local.get $aggregated) (i32.const 1)))))

        (local.set $records (i32.add (local.get $records) (i32.const 1)))
        ;; A trade of the open minute moves the stream clock forward.
        (local.set $clock
          (select (local.get $offsetF) (local.get $clock)
            (f64.gt (local.get $offsetF) (local.get $clock))))
        (local.set $p (local.get $next))
        (br $record)))

    (f64.store offset=0 (i32.const 0) (local.get $clock))                  ;; header.streamOffsetNs
    (i32.store offset=16 (i32.const 0) (local.get $touchedCount))          ;; header.touchedCount
    (i32.store offset=24 (i32.const 0) (local.get $version))               ;; header.mappingVersion
    (i32.store offset=28 (i32.const 0)                                     ;; header.records
      (i32.add (i32.load offset=28 (i32.const 0)) (local.get $records)))   ;; header.records
    (i32.store offset=32 (i32.const 0)                                     ;; header.aggregated
      (i32.add (i32.load offset=32 (i32.const 0)) (local.get $aggregated))) ;; header.aggregated
    (i32.store offset=36 (i32.const 0)                                     ;; header.undefinedPrices
      (i32.add (i32.load offset=36 (i32.const 0)) (local.get $undefinedPrices))) ;; header.undefinedPrices
    (local.get $p))
)
