#include <libxml/xmlversion.h>
/* Foundation ships its own ICU; libxml2's ICU headers clash with it in clean debug builds. */
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/parser.h>
/* xmlFree is a mutable C global, which Swift 6 rejects; wrap it. */
static inline void tagdata_xmlFree(void *p) { xmlFree(p); }
