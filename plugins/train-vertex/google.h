/* google.h: vd1's: Google credentials (ADC), endpoints, JSON calls and the
 * Cloud Storage client, as declared in the design's §5. */
#ifndef VERTEX_GOOGLE_H
#define VERTEX_GOOGLE_H

#endif
