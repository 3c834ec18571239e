#ifndef LEVY_CLIBXML2_SHIM_H
#define LEVY_CLIBXML2_SHIM_H
// Debian builds libxml2 with ICU; its headers clash with the ICU module Foundation ships.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlschemastypes.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#endif
