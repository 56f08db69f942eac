-- tagdata catalog, schema version 9 (PRAGMA user_version = 9).
-- This is the DDL that TagdataCatalog's migrations run (versions 1 to 9 in turn); a test
-- keeps the two identical.
--
-- runs        one row per `tagdata ingest` invocation.
-- sources     one row per input file: identity (absolute path, size, mtime, SHA-256 of the first
--             64 KiB, ambiguity policy), detected compression and format, status
--             (partial/complete/failed), the checkpoint of the last committed batch
--             (records_done, next_offset and next_line in the decompressed stream), and once
--             complete the SHA-256 of the decompressed content.
-- proteins    distinct canonical sequences: SHA-256 of the sequence bytes (the key), UniProt CRC64
--             (16 upper-case hex digits), length.
-- entries     UniProt entries, keyed by (primary accession, protein): a later sighting fills
--             fields that are still NULL. keywords are sorted and joined with "; ".
-- accessions  primary (is_primary = 1) and secondary accessions of each entry.
-- names       protein names: kind is recommended, recommended-short, alternative,
--             alternative-short, submitted, submitted-short, ec, allergen, biotech, cd-antigen, inn.
-- comments    free-text comment topics (FUNCTION, SUBUNIT, ...), evidence tags removed.
-- records     provenance: one row per record read (file, 0-based record number, 1-based line,
--             byte offset in the decompressed stream), with the run that stored it.
-- quarantine  records that could not be used: where, why, and a short excerpt.

CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  tool_version TEXT NOT NULL,
  arguments TEXT NOT NULL);
CREATE TABLE sources(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  size INTEGER,
  mtime_ns INTEGER,
  head_sha256 TEXT NOT NULL,
  compression TEXT NOT NULL,
  format TEXT NOT NULL,
  policy TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('partial', 'complete', 'failed')),
  records_done INTEGER NOT NULL DEFAULT 0,
  next_offset INTEGER NOT NULL DEFAULT 0,
  next_line INTEGER NOT NULL DEFAULT 1,
  content_sha256 TEXT,
  error TEXT,
  first_run INTEGER NOT NULL REFERENCES runs(id),
  last_run INTEGER NOT NULL REFERENCES runs(id),
  UNIQUE (path, size, mtime_ns, head_sha256, policy));
CREATE TABLE proteins(
  id INTEGER PRIMARY KEY,
  sha256 BLOB NOT NULL UNIQUE,
  crc64 TEXT NOT NULL,
  length INTEGER NOT NULL,
  sequence TEXT NOT NULL);
CREATE TABLE entries(
  id INTEGER PRIMARY KEY,
  protein_id INTEGER NOT NULL REFERENCES proteins(id),
  accession TEXT NOT NULL,
  entry_name TEXT,
  reviewed INTEGER,
  protein_name TEXT,
  gene TEXT,
  organism TEXT,
  taxon_id INTEGER,
  lineage TEXT,
  existence INTEGER,
  keywords TEXT,
  sequence_version INTEGER,
  entry_version INTEGER,
  fragment INTEGER NOT NULL DEFAULT 0,
  declared_mass INTEGER,
  UNIQUE (accession, protein_id));
CREATE TABLE accessions(
  accession TEXT NOT NULL,
  entry_id INTEGER NOT NULL REFERENCES entries(id),
  is_primary INTEGER NOT NULL,
  PRIMARY KEY (accession, entry_id)) WITHOUT ROWID;
CREATE TABLE names(
  entry_id INTEGER NOT NULL REFERENCES entries(id),
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (entry_id, kind, value)) WITHOUT ROWID;
CREATE TABLE comments(
  entry_id INTEGER NOT NULL REFERENCES entries(id),
  ordinal INTEGER NOT NULL,
  topic TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (entry_id, ordinal)) WITHOUT ROWID;
CREATE TABLE records(
  source_id INTEGER NOT NULL REFERENCES sources(id),
  record_no INTEGER NOT NULL,
  line INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  protein_id INTEGER NOT NULL REFERENCES proteins(id),
  entry_id INTEGER REFERENCES entries(id),
  label TEXT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
CREATE INDEX records_by_protein ON records(protein_id);
CREATE TABLE quarantine(
  source_id INTEGER NOT NULL REFERENCES sources(id),
  record_no INTEGER NOT NULL,
  line INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  reason TEXT NOT NULL,
  excerpt TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;

-- Version 2: molecules.
--
-- molecules         distinct structures keyed by canonical isomeric SMILES (stereo and isotopes
--                   included; a CXSMILES block ` |ctu:n|` follows the SMILES when a double bond
--                   of unknown geometry sits between specified ones); connectivity_smiles is
--                   the canonical SMILES without them (the non-isomeric key, indexed); formula
--                   in Hill order with the net charge as PubChem writes it; heavy_atoms counts
--                   non-hydrogen atoms.
-- compounds         PubChem identifiers of a molecule, keyed by (CID, molecule): a later sighting
--                   fills fields that are still NULL. inchi, inchikey, formula and weight are as
--                   PubChem states them. pubchem_smiles is PubChem's isomeric SMILES as given,
--                   pubchem_smiles_canonical our canonical form of it (NULL with
--                   pubchem_smiles_error when it cannot be read).
-- molecule_records  provenance: one row per molecule record read, like records for proteins.
-- pubchem_smiles_disagreements  compounds whose PubChem SMILES does not give the structure read
--                   from the connection table.

CREATE TABLE molecules(
  id INTEGER PRIMARY KEY,
  smiles TEXT NOT NULL UNIQUE,
  connectivity_smiles TEXT NOT NULL,
  formula TEXT NOT NULL,
  heavy_atoms INTEGER NOT NULL);
CREATE INDEX molecules_by_connectivity ON molecules(connectivity_smiles);
CREATE TABLE compounds(
  id INTEGER PRIMARY KEY,
  molecule_id INTEGER NOT NULL REFERENCES molecules(id),
  cid INTEGER NOT NULL,
  inchi TEXT,
  inchikey TEXT,
  formula TEXT,
  weight TEXT,
  pubchem_smiles TEXT,
  pubchem_smiles_canonical TEXT,
  pubchem_smiles_error TEXT,
  UNIQUE (cid, molecule_id));
CREATE INDEX compounds_by_inchikey ON compounds(inchikey);
CREATE TABLE molecule_records(
  source_id INTEGER NOT NULL REFERENCES sources(id),
  record_no INTEGER NOT NULL,
  line INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  molecule_id INTEGER NOT NULL REFERENCES molecules(id),
  compound_id INTEGER REFERENCES compounds(id),
  title TEXT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
CREATE INDEX molecule_records_by_molecule ON molecule_records(molecule_id);
CREATE VIEW pubchem_smiles_disagreements AS
  SELECT c.cid, m.smiles AS smiles, c.pubchem_smiles_canonical, c.pubchem_smiles, c.pubchem_smiles_error
  FROM compounds c JOIN molecules m ON m.id = c.molecule_id
  WHERE c.pubchem_smiles IS NOT NULL
    AND (c.pubchem_smiles_canonical IS NULL OR c.pubchem_smiles_canonical <> m.smiles);

-- Version 3: an entry's names and comments move onto the entry.
--
-- entries.names     the protein names as a JSON array of [kind, value], in the entry's order,
--                   each (kind, value) once; NULL when the entry has none.
-- entries.comments  the free-text comments as a JSON array of [topic, text], in order; NULL
--                   when none.
-- names, comments   views giving them as rows, with the columns the version-1 tables had
--                   (comments.ordinal is the position in the array).

ALTER TABLE entries ADD COLUMN names TEXT;
ALTER TABLE entries ADD COLUMN comments TEXT;
UPDATE entries SET
  names = (SELECT NULLIF(json_group_array(json_array(kind, value)), '[]')
           FROM (SELECT kind, value FROM names n WHERE n.entry_id = entries.id ORDER BY kind, value)),
  comments = (SELECT NULLIF(json_group_array(json_array(topic, text)), '[]')
              FROM (SELECT topic, text FROM comments c WHERE c.entry_id = entries.id ORDER BY ordinal));
DROP TABLE names;
DROP TABLE comments;
CREATE VIEW names(entry_id, kind, value) AS
  SELECT e.id, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
  FROM entries e, json_each(e.names) j;
CREATE VIEW comments(entry_id, ordinal, topic, text) AS
  SELECT e.id, j.key, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
  FROM entries e, json_each(e.comments) j;

-- Version 4: the checksum an entry declared.
--
-- entries.checksum_kind      crc64 (UniProt since 2001: SQ line, XML checksum attribute) or crc32
--                            (Swiss-Prot before release 40, 2001); NULL when none was declared
--                            (FASTA).
-- entries.declared_checksum  its value as 16 (CRC64) or 8 (CRC32) upper-case hex digits.

ALTER TABLE entries ADD COLUMN checksum_kind TEXT CHECK (checksum_kind IN ('crc64', 'crc32'));
ALTER TABLE entries ADD COLUMN declared_checksum TEXT;

-- Version 5: computed labels (descriptors) of molecules and proteins.
--
-- labels.entity     molecule (entity_id = molecules.id) or protein (entity_id = proteins.id).
-- labels.name       the descriptor's stable name (`tagdata describe --list`), e.g. qed, logp, pi.
-- labels.value      a numeric value; labels.text a text value (a formula); labels.reason why the
--                   descriptor has no value for this entity. Exactly one of the three is set.
-- labels.version    the version of the descriptor's definition; `tagdata describe --catalog`
--                   recomputes a label only when it is missing or its version differs.
-- labels.run_id     the run that computed it.

CREATE TABLE labels(
  entity TEXT NOT NULL CHECK (entity IN ('molecule', 'protein')),
  name TEXT NOT NULL,
  entity_id INTEGER NOT NULL,
  value REAL,
  text TEXT,
  reason TEXT,
  version TEXT NOT NULL,
  run_id INTEGER REFERENCES runs(id),
  CHECK ((value IS NOT NULL) + (text IS NOT NULL) + (reason IS NOT NULL) = 1),
  PRIMARY KEY (entity, name, entity_id)) WITHOUT ROWID;
CREATE INDEX labels_by_entity ON labels(entity, entity_id);

-- Version 6: binding measurements (BindingDB).
--
-- targets.key             SHA-256 over the chains' protein SHA-256 digests, sorted: the same set of
--                         chains is the same target whichever order a row lists them in.
-- target_chains           the chains of a target (ordinal in key order), each a canonical protein.
-- binding_records         provenance of each BindingDB row (source, record number, line, byte
--                         offset), its ligand (molecules.id) and target, BindingDB's identifiers
--                         (reactant set, monomer), PubChem CID, ChEMBL id, InChIKey, names, the
--                         chains' UniProt ids as written (JSON array of [accession, entry name,
--                         name]) and the publication (curation source, DOI, PMID, patent,
--                         institution, PubChem AID).
-- measurements            one per measured kind of a row: Ki, IC50, Kd, EC50 (nM), kon (M-1 s-1),
--                         koff (s-1), pH, temp (C); relation (= < > <= >= ~: censored values are
--                         bounds), value, the cell as written; a cell that cannot be read keeps
--                         its text and the error, with no relation and no value. px = 9 - log10(nM)
--                         for Ki, IC50, Kd and EC50; a value <= 0 has none, and px_reason says so.

CREATE TABLE targets(
  id INTEGER PRIMARY KEY,
  key BLOB NOT NULL UNIQUE,
  chains INTEGER NOT NULL);
CREATE TABLE target_chains(
  target_id INTEGER NOT NULL REFERENCES targets(id),
  ordinal INTEGER NOT NULL,
  protein_id INTEGER NOT NULL REFERENCES proteins(id),
  PRIMARY KEY (target_id, ordinal)) WITHOUT ROWID;
CREATE INDEX target_chains_by_protein ON target_chains(protein_id);
CREATE TABLE binding_records(
  source_id INTEGER NOT NULL REFERENCES sources(id),
  record_no INTEGER NOT NULL,
  line INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  molecule_id INTEGER NOT NULL REFERENCES molecules(id),
  target_id INTEGER NOT NULL REFERENCES targets(id),
  reactant_set_id INTEGER,
  monomer_id INTEGER,
  pubchem_cid INTEGER,
  chembl_id TEXT,
  inchikey TEXT,
  ligand_name TEXT,
  target_name TEXT,
  organism TEXT,
  chains TEXT,
  curation TEXT,
  doi TEXT,
  pmid INTEGER,
  patent TEXT,
  institution TEXT,
  pubchem_aid INTEGER,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
CREATE INDEX binding_records_by_pair ON binding_records(molecule_id, target_id);
CREATE TABLE measurements(
  source_id INTEGER NOT NULL,
  record_no INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('Ki', 'IC50', 'Kd', 'EC50', 'kon', 'koff', 'pH', 'temp')),
  molecule_id INTEGER NOT NULL REFERENCES molecules(id),
  target_id INTEGER NOT NULL REFERENCES targets(id),
  relation TEXT CHECK (relation IN ('=', '<', '>', '<=', '>=', '~')),
  value REAL,
  text TEXT NOT NULL,
  error TEXT,
  px REAL,
  px_reason TEXT,
  CHECK ((value IS NULL) = (error IS NOT NULL) AND (value IS NULL) = (relation IS NULL)),
  PRIMARY KEY (source_id, record_no, kind),
  FOREIGN KEY (source_id, record_no) REFERENCES binding_records(source_id, record_no)) WITHOUT ROWID;
CREATE INDEX measurements_by_pair ON measurements(molecule_id, target_id, kind);


-- Version 7: labelled tables (`tagdata ingest --table`).
--
-- tables            a source read as a table: the mapping's name (a preset such as tdc-dti, or
--                   custom) and the mapping as JSON ({"name":..., "columns":[[header, kind], ...]}).
-- table_rows        provenance of each row (source, record number, line, byte offset).
-- table_values      one per mapped cell, in mapping order (ordinal): field = the column's header,
--                   kind smiles (molecule_id), protein (protein_id), text and language and id
--                   (text), number (number).

CREATE TABLE tables(
  source_id INTEGER PRIMARY KEY REFERENCES sources(id),
  name TEXT NOT NULL,
  mapping TEXT NOT NULL);
CREATE TABLE table_rows(
  source_id INTEGER NOT NULL REFERENCES sources(id),
  record_no INTEGER NOT NULL,
  line INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  PRIMARY KEY (source_id, record_no)) WITHOUT ROWID;
CREATE TABLE table_values(
  source_id INTEGER NOT NULL,
  record_no INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  field TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('smiles', 'protein', 'text', 'language', 'number', 'id')),
  molecule_id INTEGER REFERENCES molecules(id),
  protein_id INTEGER REFERENCES proteins(id),
  text TEXT,
  number REAL,
  PRIMARY KEY (source_id, record_no, ordinal),
  FOREIGN KEY (source_id, record_no) REFERENCES table_rows(source_id, record_no)) WITHOUT ROWID;
CREATE INDEX table_values_by_molecule ON table_values(molecule_id) WHERE molecule_id IS NOT NULL;
CREATE INDEX table_values_by_protein ON table_values(protein_id) WHERE protein_id IS NOT NULL;


-- Version 8: partitioned ingest (`tagdata ingest --partition i/N`): the work unit each source of a
-- partition's catalog read (range_end NULL: the whole file; else the byte range
-- [range_start, range_end) of it, whose source has ` range START-END` appended to its policy),
-- with the records and lines in it, by which `tagdata catalog merge` numbers them as one read.
CREATE TABLE partition_ranges(
  source_id INTEGER PRIMARY KEY REFERENCES sources(id),
  partition INTEGER NOT NULL,
  partitions INTEGER NOT NULL,
  file_policy TEXT NOT NULL,
  range_start INTEGER NOT NULL,
  range_end INTEGER,
  records INTEGER NOT NULL,
  lines INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id));


-- Version 9: what each molecule is grouped by in leakage-free splits: its parent (largest
-- component, neutralised, without stereo or isotopes) and its Bemis-Murcko scaffold (without
-- stereo), as canonical SMILES, under the definition's version (TagdataChem's MoleculeGroups).
-- `tagdata catalog groups` (and `tagdata run` after its ingest) works them out for the molecules
-- without them; builds read them, and work out those missing. They follow
-- from the molecule's SMILES and are left out of the catalog's content hash, like an index.
CREATE TABLE molecule_groups(
  molecule_id INTEGER PRIMARY KEY REFERENCES molecules(id),
  parent TEXT NOT NULL,
  scaffold TEXT NOT NULL,
  version TEXT NOT NULL);
