package runtime

// LastReExec is why the last Start went through the re-executed init
// when it could have started directly ("" if it started directly).
func LastReExec() string {
	if why := lastReExec.Load(); why != nil {
		return *why
	}
	return ""
}
