package runtime

// LastReExec is why the last Start that could have started directly went
// through the re-executed init instead ("" if none has).
func LastReExec() string {
	if why := lastReExec.Load(); why != nil {
		return *why
	}
	return ""
}
