package engine

import "errors"

func (e *Engine) openDB() error { return errors.New("engine: durable state is not wired yet") }
