-- The company price list (standard item 11), kept with its history: a row
-- is an item as it stands from its version on, until a later row for the
-- same code; each edit is the next version. So the list any device held can
-- be rebuilt and its fee lines judged against it. Version 1 is the list apps
-- carried before HQ kept one: fee lines recorded then read the same.
CREATE TABLE price_items (
    version        INTEGER NOT NULL,
    code           TEXT NOT NULL,
    name_zh        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    retired        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (version, code)
);
CREATE INDEX price_items_by_code ON price_items (code, version);
INSERT INTO price_items (version, code, name_zh, name_en, unit_price_fen, retired) VALUES
    (1, 'remote', '遥控器(非保修)', 'Remote control (out of warranty)', 3500, FALSE),
    (1, 'stb_out_of_warranty', '机顶盒更换(非保修)', 'Set-top box replacement (out of warranty)', 30000, FALSE),
    (1, 'indoor_cable_m', '入户线(每米)', 'Indoor cable (per metre)', 200, FALSE),
    (1, 'splitter', '分配器', 'Splitter', 1500, FALSE),
    (1, 'connector', 'F 头', 'F connector', 300, FALSE),
    (1, 'extra_outlet', '增加终端点位', 'Extra outlet', 5000, FALSE);
