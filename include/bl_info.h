#ifndef BL_INFO_H
#define BL_INFO_H

/* `biaslab info FILE [--json]`: per sweep point, the sweep coordinates, the
 * task outcomes and each metric's final mean [95% CI], as a table or (json)
 * as one JSON object (NaN and infinities as null). Returns an exit code. */
int bl_output_info(const char *path, int json);

#endif
