#include <sqlite3.h>
/* SQLITE_TRANSIENT is a cast macro; give Swift a callable form. */
static inline sqlite3_destructor_type tagdata_sqlite_transient(void) { return SQLITE_TRANSIENT; }
