// shift-point
package shop

import (
	"encoding/json"
	"fmt"
)

// ReadSettings decodes tenant settings; a malformed document is a bug upstream.
func ReadSettings(raw string) map[string]any {
	// shift-point
	settings := map[string]any{}
	if err := json.Unmarshal([]byte(raw), &settings); err != nil {
		// shift-point
		panic(fmt.Errorf("read settings: %w", err))
	}
	return settings
}
