/* stb_image (PNG only: JPEG goes through libjpeg-turbo, core/image_io.cpp) and stb_image_write,
 * compiled here from Debian's libstb-dev headers instead of linked from its prebuilt libstb, which
 * keeps assert() on: a corrupt JPEG made it abort the whole process (tests/fuzz/fuzz_image),
 * `digits serve` included. Here assert() follows the build type (off with NDEBUG, as in every
 * preset), the sanitizers and the fuzzers see stb's code, and JPEG is not compiled in. */
#define STBI_ONLY_PNG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
