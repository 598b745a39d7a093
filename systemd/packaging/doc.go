// Package packaging builds the officegate .deb (build-deb) and holds the
// example mosquitto configuration that ships in it; its tests build the amd64
// package and inspect it, and run a real mosquitto under the example ACL.
package packaging
