#include <sqlite3.h>
/* SQLITE_TRANSIENT is a cast macro; give Swift a callable form. */
static inline sqlite3_destructor_type tagdata_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/* sqlite3_config is variadic, which Swift cannot call. Must run before sqlite3_initialize. */
static inline int tagdata_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
