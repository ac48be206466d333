"""PL/pgSQL for the PostgreSQL accounting extras, as versioned DDL the migrations run.

``alphapulse_apply_fill`` is an ``AFTER INSERT`` row trigger on ``fills`` that books each
new fill into ``positions`` and ``portfolio_cash`` with exactly the arithmetic, operation
order included, of :func:`alphapulse.store.accounting.apply_fill` (the SQLite path) and of
the engine's ``Ledger.apply``: adding to a position moves the average price, reducing it
realises ``(price - avg) * closed * sign(position)``, crossing zero reopens the rest at the
fill price, and ``cash -= signed_qty * price + fee``.

``take_portfolio_snapshot(run_id, ts)`` marks every open position at the close of the
latest bar at or before ``ts`` (any timeframe; the finer one on a tie; the average price
when the symbol has no bar yet), sums in symbol order and upserts a portfolio snapshot.

Functions pin ``search_path`` to the schema they were created in. Never edit a published
constant: add a new version and a migration that installs it.
"""

from __future__ import annotations

from typing import Final

APPLY_FILL_FUNCTION_V1: Final = """
CREATE OR REPLACE FUNCTION alphapulse_apply_fill() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_q double precision;
    v_pos double precision;
    v_avg double precision;
    v_realized double precision;
    v_closed double precision;
    v_new double precision;
BEGIN
    v_q := CASE WHEN NEW.side = 'buy' THEN NEW.quantity ELSE -NEW.quantity END;

    INSERT INTO portfolio_cash (run_id, initial_cash, cash, fees, n_fills, last_fill_ts)
    VALUES (NEW.run_id, 0, 0, 0, 0, NULL)
    ON CONFLICT (run_id) DO NOTHING;
    UPDATE portfolio_cash
       SET cash = cash - (v_q * NEW.price + NEW.fee),
           fees = fees + NEW.fee,
           n_fills = n_fills + 1,
           last_fill_ts = GREATEST(last_fill_ts, NEW.ts)
     WHERE run_id = NEW.run_id;

    INSERT INTO positions (run_id, symbol, quantity, avg_price, realized_pnl, fees, last_fill_ts)
    VALUES (NEW.run_id, NEW.symbol, 0, 0, 0, 0, NULL)
    ON CONFLICT (run_id, symbol) DO NOTHING;
    SELECT quantity, avg_price, realized_pnl INTO v_pos, v_avg, v_realized
      FROM positions
     WHERE run_id = NEW.run_id AND symbol = NEW.symbol
       FOR UPDATE;

    v_new := v_pos + v_q;
    IF v_pos = 0 OR (v_pos > 0) = (v_q > 0) THEN
        v_avg := (v_pos * v_avg + v_q * NEW.price) / v_new;
    ELSE
        v_closed := LEAST(abs(v_q), abs(v_pos));
        v_realized := v_realized + v_closed * (NEW.price - v_avg) * sign(v_pos);
        IF abs(v_q) > abs(v_pos) THEN
            v_avg := NEW.price;
        ELSIF abs(v_q) = abs(v_pos) THEN
            v_avg := 0;
        END IF;
    END IF;
    IF abs(v_new) < CAST(1e-12 AS double precision) THEN
        v_new := 0;
    END IF;

    UPDATE positions
       SET quantity = v_new,
           avg_price = v_avg,
           realized_pnl = v_realized,
           fees = fees + NEW.fee,
           last_fill_ts = GREATEST(last_fill_ts, NEW.ts)
     WHERE run_id = NEW.run_id AND symbol = NEW.symbol;
    RETURN NULL;
END
$$
"""

APPLY_FILL_TRIGGER_V1: Final = """
CREATE TRIGGER trg_fills_apply AFTER INSERT ON fills
FOR EACH ROW EXECUTE FUNCTION alphapulse_apply_fill()
"""

SNAPSHOT_FUNCTION_V1: Final = """
CREATE OR REPLACE FUNCTION take_portfolio_snapshot(p_run_id text, p_ts bigint)
RETURNS portfolio_snapshots
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v_cash double precision;
    v_mv double precision := 0;
    v_gross double precision := 0;
    v_row portfolio_snapshots;
    r record;
BEGIN
    SELECT cash INTO v_cash FROM portfolio_cash WHERE run_id = p_run_id;
    IF NOT FOUND THEN
        v_cash := COALESCE((SELECT initial_cash FROM runs WHERE id = p_run_id), 0);
    END IF;
    FOR r IN
        SELECT p.quantity * COALESCE(px.close, p.avg_price) AS value
          FROM positions p
          LEFT JOIN LATERAL (
                SELECT b.close
                  FROM bar_series s
                 CROSS JOIN LATERAL (
                        SELECT bb.close, bb.ts
                          FROM bars bb
                         WHERE bb.symbol = s.symbol
                           AND bb.timeframe = s.timeframe
                           AND bb.ts <= p_ts
                         ORDER BY bb.ts DESC
                         LIMIT 1) b
                 WHERE s.symbol = p.symbol
                 ORDER BY b.ts DESC, s.timeframe_ns ASC
                 LIMIT 1) px ON true
         WHERE p.run_id = p_run_id AND p.quantity <> 0
         ORDER BY p.symbol
    LOOP
        v_mv := v_mv + r.value;
        v_gross := v_gross + abs(r.value);
    END LOOP;
    INSERT INTO portfolio_snapshots
        (run_id, ts, cash, market_value, equity, gross_exposure, net_exposure)
    VALUES (p_run_id, p_ts, v_cash, v_mv, v_cash + v_mv, v_gross, v_mv)
    ON CONFLICT (run_id, ts) DO UPDATE
       SET cash = EXCLUDED.cash,
           market_value = EXCLUDED.market_value,
           equity = EXCLUDED.equity,
           gross_exposure = EXCLUDED.gross_exposure,
           net_exposure = EXCLUDED.net_exposure
    RETURNING * INTO v_row;
    RETURN v_row;
END
$$
"""

DROP_V1: Final = (
    "DROP TRIGGER IF EXISTS trg_fills_apply ON fills",
    "DROP FUNCTION IF EXISTS alphapulse_apply_fill()",
    "DROP FUNCTION IF EXISTS take_portfolio_snapshot(text, bigint)",
)

#: Call the snapshot function (parameterised).
CALL_SNAPSHOT: Final = (
    "SELECT cash, market_value, equity, gross_exposure, net_exposure "
    "FROM take_portfolio_snapshot(:run_id, :ts)"
)
