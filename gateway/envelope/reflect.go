package envelope

import "reflect"

type reflectType = reflect.Type

func reflectTypeOf(v any) reflect.Type { return reflect.TypeOf(v) }
