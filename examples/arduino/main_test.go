package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/zerosync/zerosync/app/apptest"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }

// TestBuildOutputExcluded syncs a sketchbook with the bench host that
// flashes the boards: sketches, headers, libraries, PlatformIO projects and
// cores installed in the sketchbook (binaries included) cross both ways;
// what a build makes (arduino-cli's, the IDE's and Arduino-Makefile's build
// folders, the IDE's exported binaries, PlatformIO's .pio folder, object
// files, the editor's symbol cache) stays on the host that built it.
func TestBuildOutputExcluded(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "bench")
	here, bench := h.Root, h.Peers["bench"]
	sources := map[string]string{
		"Blink/Blink.ino":                        "void setup() {}\nvoid loop() {}\n",
		"Blink/config.h":                         "#define LED 13\n",
		"Blink/data/index.html":                  "<h1>served from flash</h1>\n",
		"libraries/MyLib/library.properties":     "name=MyLib\n",
		"libraries/MyLib/src/MyLib.h":            "#pragma once\n",
		"libraries/MyLib/src/MyLib.cpp":          "#include \"MyLib.h\"\n",
		"libraries/MyLib/examples/Demo/Demo.ino": "#include <MyLib.h>\n",
		"weather/platformio.ini":                 "[env:uno]\nplatform = atmelavr\n",
		"weather/src/main.cpp":                   "#include <Arduino.h>\n",
		"weather/include/pins.h":                 "#define DHT_PIN 2\n",
		".vscode/arduino.json":                   "{\"board\": \"arduino:avr:uno\"}\n",
		// Cores installed in the sketchbook ship bootloaders, partition
		// tables and boot stubs as binaries that a build or a "Burn
		// Bootloader" needs.
		"hardware/MiniCore/avr/bootloaders/optiboot_flash/atmega328p/optiboot_flash_atmega328p_UART0_115200_16000000L.hex": ":00000001FF\n",
		"hardware/espressif/esp32/tools/partitions/boot_app0.bin":                                                          "boot\n",
		"hardware/esp8266com/esp8266/bootloaders/eboot/eboot.elf":                                                          "\x7fELF\n",
	}
	for p, c := range sources {
		h.Write(here, p, c, 0o644)
	}
	built := []string{
		// arduino-cli compile --export-binaries, and the IDE 2 "Export
		// compiled binary", per board.
		"Blink/build/arduino.avr.uno/Blink.ino.hex",
		"Blink/build/arduino.avr.uno/Blink.ino.with_bootloader.hex",
		"Blink/build/arduino.avr.uno/Blink.ino.elf",
		"Blink/build/arduino.avr.uno/Blink.ino.eep",
		"Blink/build/arduino.avr.uno/Blink.ino.map",
		"Blink/build/esp32.esp32.esp32/Blink.ino.bin",
		"Blink/build/esp32.esp32.esp32/Blink.ino.partitions.bin",
		// The IDE 1.x "Export compiled Binary", beside the sketch.
		"Blink/Blink.ino.standard.hex",
		"Blink/Blink.ino.with_bootloader.standard.hex",
		"Blink/Blink.ino.esp32.bin",
		"Blink/Blink.ino.hex",
		// PlatformIO: build output and downloaded libraries.
		"weather/.pio/build/uno/firmware.hex",
		"weather/.pio/build/uno/firmware.elf",
		"weather/.pio/build/uno/src/main.cpp.o",
		"weather/.pio/libdeps/uno/DHT sensor library/DHT.cpp",
		// Arduino-Makefile, one folder per board.
		"Blink/build-uno/Blink.hex",
		"Blink/build-uno/Blink.ino.o",
		// Object files built in place, and the editor's symbol cache.
		"libraries/MyLib/src/MyLib.o",
		".vscode/ipch/a1b2c3/mmap_address.bin",
	}
	for _, p := range built {
		h.Write(here, p, "built\n", 0o644)
	}
	h.Write(bench, "weather/.pio/build/nano/firmware.hex", "built on the bench\n", 0o644)
	h.Write(bench, "Blink/build/arduino.avr.nano/Blink.ino.hex", "built on the bench\n", 0o644)
	h.Write(bench, "Servo/Servo.ino", "#include <Servo.h>\n", 0o644)

	h.Run("once")
	got := h.Tree(bench)
	for p, c := range sources {
		assert.Equal(t, c, got[p], "%s is a source: it should cross", p)
	}
	for _, p := range built {
		assert.NotContains(t, got, p, "%s is build output: it should stay here", p)
	}
	c, _ := h.Read(here, "Servo/Servo.ino")
	assert.Equal(t, "#include <Servo.h>\n", c, "the bench's sketch should come here")
	for _, p := range []string{"weather/.pio/build/nano/firmware.hex", "Blink/build/arduino.avr.nano/Blink.ino.hex"} {
		_, ok := h.Read(here, p)
		assert.False(t, ok, "the bench's build output %s should stay there", p)
	}
}
