-- kcbx schema: the first migration (m001_schema) runs this file once.
-- Later changes are new migrations in kcbx/migrations.py; never edit this file
-- in a way that changes an existing database.
--
-- Conventions: dates are ISO text (YYYY-MM-DD); timestamps are ISO text in
-- local time; booleans are INTEGER 0/1; codes are English (see SPEC §2).

-- Key/value settings: town name, thresholds, age cut-off (defaults live in code).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Villages/communities (from census sheets) and local schools (from rosters).
CREATE TABLE units (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('village', 'school')),
    name                 TEXT NOT NULL,
    level                TEXT CHECK (level IS NULL OR level IN ('primary', 'middle', 'nine_year')),
    head_name            TEXT,
    head_phone           TEXT,
    -- a village's catchment schools; NULL = derived (SPEC §2), set = override
    catchment_primary_id INTEGER REFERENCES units(id),
    catchment_middle_id  INTEGER REFERENCES units(id),
    created_at           TEXT NOT NULL DEFAULT (datetime('now', 'localtime')),
    UNIQUE (kind, name),
    CHECK (kind = 'village' OR (catchment_primary_id IS NULL AND catchment_middle_id IS NULL))
);

-- One row per child, keyed by the 18-character ID number.
CREATE TABLE children (
    id                INTEGER PRIMARY KEY,
    id_number         TEXT NOT NULL UNIQUE CHECK (length(id_number) = 18),
    name              TEXT NOT NULL CHECK (name <> ''),
    gender            TEXT NOT NULL CHECK (gender IN ('M', 'F')),
    birth_date        TEXT NOT NULL,
    ethnicity         TEXT,
    village_id        INTEGER REFERENCES units(id),
    village_group     INTEGER,             -- 组 number
    school            TEXT,                -- school attended (local or not), as named
    grade             INTEGER CHECK (grade IS NULL OR grade BETWEEN 1 AND 9),
    grade_text        TEXT,                -- raw grade when not 1-9 (高一, 中职一年级)
    class_no          INTEGER,
    student_no        TEXT,                -- 学籍号
    guardian_name     TEXT,
    guardian_relation TEXT,
    guardian_phone    TEXT,
    address           TEXT,
    left_behind       INTEGER NOT NULL DEFAULT 0 CHECK (left_behind IN (0, 1)),
    disabled          INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    disability_type   TEXT,
    disability_level  TEXT,
    family_type       TEXT,                -- normalised list joined with '、'
    last_score        REAL,                -- NULL = no score (never 0)
    absences          INTEGER,
    remarks           TEXT,                -- latest 备注
    in_census         INTEGER NOT NULL DEFAULT 0 CHECK (in_census IN (0, 1)),  -- 户籍 population
    status            TEXT,                -- cached current status (kept in step with events)
    status_since      TEXT,
    created_at        TEXT NOT NULL DEFAULT (datetime('now', 'localtime')),
    updated_at        TEXT NOT NULL DEFAULT (datetime('now', 'localtime')),
    CHECK (status IS NULL OR status IN ('enrolled', 'inclusive', 'special_school', 'home_taught',
        'away', 'suspected', 'dropout', 'never_enrolled', 'unknown', 'suspended', 'deferred',
        'completed', 'moved_out', 'deceased'))
);
CREATE INDEX children_village ON children (village_id, in_census);
CREATE INDEX children_student_no ON children (student_no);
CREATE INDEX children_name ON children (name);

-- Status history: snapshots (census/roster), changes (变动), manual (status set).
CREATE TABLE status_events (
    id          INTEGER PRIMARY KEY,
    child_id    INTEGER NOT NULL REFERENCES children(id),
    date        TEXT NOT NULL,
    status      TEXT NOT NULL,
    prev_status TEXT,                      -- changes: 变动前状态 (NULL = not in the records before)
    school      TEXT,                      -- school attended after the event
    prev_school TEXT,                      -- changes: 原学校
    kind        TEXT NOT NULL CHECK (kind IN ('snapshot', 'change', 'manual')),
    event_type  TEXT,                      -- 变动类型 word (转入, 辍学, 劝返复学 …)
    reason      TEXT,
    batch_id    INTEGER REFERENCES import_batches(id),
    applied     INTEGER NOT NULL DEFAULT 1 CHECK (applied IN (0, 1)),
    created_at  TEXT NOT NULL DEFAULT (datetime('now', 'localtime')),
    CHECK (status IN ('enrolled', 'inclusive', 'special_school', 'home_taught', 'away',
        'suspected', 'dropout', 'never_enrolled', 'unknown', 'suspended', 'deferred',
        'completed', 'moved_out', 'deceased')),
    CHECK (prev_status IS NULL OR prev_status IN ('enrolled', 'inclusive', 'special_school',
        'home_taught', 'away', 'suspected', 'dropout', 'never_enrolled', 'unknown', 'suspended',
        'deferred', 'completed', 'moved_out', 'deceased')),
    CHECK (kind = 'snapshot' OR applied = 1)
);
-- the rate queries look up "latest event of a child on or before a date"
CREATE INDEX status_events_child_date ON status_events (child_id, date, applied);
CREATE INDEX status_events_date ON status_events (date);
CREATE INDEX status_events_batch ON status_events (batch_id);

-- At-risk flags; rows are never deleted (history).
CREATE TABLE flags (
    id             INTEGER PRIMARY KEY,
    child_id       INTEGER NOT NULL REFERENCES children(id),
    flag           TEXT NOT NULL CHECK (flag IN ('wavering', 'hardship', 'struggling')),
    reason         TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source = 'manual' OR source LIKE 'rule:%'),
    raised_on      TEXT NOT NULL,
    cleared_on     TEXT,
    cleared_reason TEXT,
    cleared_by     TEXT CHECK (cleared_by IS NULL OR cleared_by IN ('manual', 'rule')),
    hold_until     TEXT,                   -- a manual clear of a rule flag holds until then
    CHECK ((cleared_on IS NULL) = (cleared_by IS NULL))
);
CREATE UNIQUE INDEX flags_one_open ON flags (child_id, flag) WHERE cleared_on IS NULL;

-- Teachers, keyed by school + name (one name can teach at two schools).
CREATE TABLE teachers (
    id              INTEGER PRIMARY KEY,
    school_id       INTEGER NOT NULL REFERENCES units(id),
    name            TEXT NOT NULL CHECK (name <> ''),
    gender          TEXT,
    phone           TEXT,
    subject         TEXT,
    head_class      TEXT,                  -- 班主任班级 as written
    head_grade      INTEGER CHECK (head_grade IS NULL OR head_grade BETWEEN 1 AND 9),
    head_class_no   INTEGER,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inactive_reason TEXT,
    remarks         TEXT,
    UNIQUE (school_id, name)
);

-- 教师包干 pairings: at most one open pairing per child.
CREATE TABLE assignments (
    id         INTEGER PRIMARY KEY,
    child_id   INTEGER NOT NULL REFERENCES children(id),
    teacher_id INTEGER NOT NULL REFERENCES teachers(id),
    start_date TEXT NOT NULL,
    end_date   TEXT,
    end_reason TEXT,
    source     TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE UNIQUE INDEX assignments_one_open ON assignments (child_id) WHERE end_date IS NULL;
CREATE INDEX assignments_teacher ON assignments (teacher_id, end_date);

-- 劝返/帮扶 records; they never change a status.
CREATE TABLE followups (
    id         INTEGER PRIMARY KEY,
    child_id   INTEGER NOT NULL REFERENCES children(id),
    date       TEXT NOT NULL,
    by_name    TEXT NOT NULL,
    by_school  TEXT,
    teacher_id INTEGER REFERENCES teachers(id),
    method     TEXT,                       -- 电话/家访/约谈/书面通知/送教上门/集中劝返
    purpose    TEXT,                       -- 帮扶类型 (劝返, 送教上门, 资助政策 …)
    content    TEXT,
    result     TEXT,
    next_date  TEXT,
    note       TEXT,
    batch_id   INTEGER REFERENCES import_batches(id),
    created_at TEXT NOT NULL DEFAULT (datetime('now', 'localtime'))
);
CREATE INDEX followups_child_date ON followups (child_id, date);

-- One row per imported file + sheet.
CREATE TABLE import_batches (
    id          INTEGER PRIMARY KEY,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('census', 'roster', 'teachers', 'followups',
                                              'changes', 'units')),
    sheet       TEXT,
    sheet_date  TEXT NOT NULL,
    date_source TEXT NOT NULL CHECK (date_source IN ('title', 'as_of', 'today')),
    unit_id     INTEGER REFERENCES units(id),   -- the reporting village or school
    iso_week    TEXT NOT NULL,                  -- of the sheet date, e.g. 2025-W08
    rows        INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    imported_at TEXT NOT NULL DEFAULT (datetime('now', 'localtime')),
    undone_at   TEXT
);
CREATE INDEX import_batches_sha ON import_batches (sha256, sheet);
CREATE INDEX import_batches_week ON import_batches (iso_week, unit_id);

-- Rejected rows of each batch (the value is stored masked): check and
-- pending_rejected read them; a name conflict stays open until `children set`.
CREATE TABLE import_errors (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL REFERENCES import_batches(id),
    row         INTEGER NOT NULL,
    column_name TEXT,
    value       TEXT,
    code        TEXT NOT NULL CHECK (code IN ('bad_checksum', 'scientific_notation', 'bad_length',
        'birth_mismatch', 'gender_mismatch', 'name_conflict', 'missing_field', 'bad_date',
        'bad_value', 'unknown_id')),
    message     TEXT NOT NULL,
    child_id    INTEGER REFERENCES children(id),  -- the stored child of a name conflict
    resolved_at TEXT
);
CREATE INDEX import_errors_batch ON import_errors (batch_id);

-- What each batch changed, so `undo` restores it exactly.
CREATE TABLE batch_changes (
    id         INTEGER PRIMARY KEY,
    batch_id   INTEGER NOT NULL REFERENCES import_batches(id),
    table_name TEXT NOT NULL,
    row_id     INTEGER NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('insert', 'update')),
    before     TEXT                        -- JSON of the changed columns' old values (update)
);
CREATE INDEX batch_changes_batch ON batch_changes (batch_id);
CREATE INDEX batch_changes_row ON batch_changes (table_name, row_id);

-- Hand edits of a child (children set): the old value stays here.
CREATE TABLE child_edits (
    id        INTEGER PRIMARY KEY,
    child_id  INTEGER NOT NULL REFERENCES children(id),
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    reason    TEXT NOT NULL,
    edited_at TEXT NOT NULL DEFAULT (datetime('now', 'localtime'))
);
