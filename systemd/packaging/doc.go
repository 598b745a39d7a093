// Package packaging builds the officegate .deb and holds the example mosquitto
// configuration. build-deb builds the package; its tests build the amd64
// package and inspect it, and run a real mosquitto under the example ACL.
package packaging
