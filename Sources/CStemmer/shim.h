// Debian's libstemmer (Snowball's stemming algorithms, package libstemmer-dev).
#include <libstemmer.h>
