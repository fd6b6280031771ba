package param

// The Check helpers apply a parameter's rules to a value that arrived
// already decoded (in a JSON or MessagePack body) rather than as text.

// CheckMetadata applies the metadata limits of Metadata to a map that was
// decoded elsewhere, such as from a JSON body.
func CheckMetadata(field string, m map[string]string) error { return checkMetadata(field, m) }

// CheckedMetadata applies the metadata limits to metadata that arrived
// already decoded (in a JSON body); nil becomes an empty map.
func CheckedMetadata(field string, md map[string]string) (map[string]string, error) {
	if md == nil {
		return map[string]string{}, nil
	}
	if err := checkMetadata(field, md); err != nil {
		return nil, err
	}
	return md, nil
}

// CheckPort applies Port's rules to a decoded port number, without
// allocating when it passes.
func CheckPort(field string, p int) error {
	if p < 1 || p > 65535 {
		return invalid(field, portReason)
	}
	return nil
}

// CheckWeight applies Weight's rules to a decoded weight: a finite number
// from MinWeight to MaxWeight.
func CheckWeight(field string, w float64) error {
	return checkFloat(field, w, MinWeight, MaxWeight)
}

// CheckFloat01 applies Float01's rules to a decoded number: finite, from 0
// to 1.
func CheckFloat01(field string, f float64) error { return checkFloat(field, f, 0, 1) }
