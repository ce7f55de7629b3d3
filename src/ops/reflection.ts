/**
 * gRPC server reflection (grpc.reflection.v1 and the older v1alpha, which
 * grpcurl, grpc_cli, Postman and Evans still call): lists the services and
 * hands out the .proto descriptors, so that tools can call the service without
 * its .proto files.
 *
 * ReflectionIndex is the protocol-free core, built from the file descriptors
 * of the registered services: it answers one request at a time. A file answer
 * holds the file and all its transitive dependencies (each once), as
 * serialized FileDescriptorProtos, the requested file first.
 */
import { create, type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { callerText } from "../caller-text.js";
import {
  type ServerReflectionRequest as ServerReflectionRequestV1,
  ServerReflectionResponseSchema as ServerReflectionResponseSchemaV1,
  type ServerReflectionResponse as ServerReflectionResponseV1,
  ServerReflection as ServerReflectionV1,
} from "../gen/grpc/reflection/v1/reflection_pb.js";
import {
  type ServerReflectionRequest as ServerReflectionRequestV1alpha,
  ServerReflectionResponseSchema as ServerReflectionResponseSchemaV1alpha,
  type ServerReflectionResponse as ServerReflectionResponseV1alpha,
  ServerReflection as ServerReflectionV1alpha,
} from "../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** A reflection request, as both versions define it. */
export type ReflectionRequest =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | {
      case: "fileContainingExtension";
      value: { containingType: string; extensionNumber: number };
    }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/** A reflection answer, as both versions define it. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** The services' reflection: their files, their dependencies, their symbols. */
export class ReflectionIndex {
  /** Every file by its name ("render/upload/v1/upload.proto"), dependencies too. */
  readonly #files = new Map<string, DescFile>();
  /** The file that declares each fully-qualified symbol. */
  readonly #symbols = new Map<string, DescFile>();
  /** The extension numbers of each extended message, with the declaring file. */
  readonly #extensions = new Map<string, Map<number, DescFile>>();
  /** The message type names of all files. */
  readonly #messages = new Set<string>();
  readonly #services: string[];
  /** Serialized FileDescriptorProtos, made once per file. */
  readonly #serialized = new Map<DescFile, Uint8Array>();

  /**
   * files: the files of the services (their imports are followed). services:
   * what list_services answers; by default every service the files declare.
   */
  constructor(files: readonly (GenFile | DescFile)[], services?: readonly DescService[]) {
    for (const file of files) this.#addFile(file);
    this.#services = [
      ...new Set((services ?? files.flatMap((f) => f.services)).map((s) => s.typeName)),
    ];
  }

  /** The fully-qualified names of the services list_services answers with. */
  get services(): readonly string[] {
    return this.#services;
  }

  /** The answer to one request. */
  answer(request: ReflectionRequest): ReflectionAnswer {
    switch (request.case) {
      case "listServices":
        return {
          case: "listServicesResponse",
          value: { service: this.#services.map((name) => ({ name })) },
        };
      case "fileByFilename": {
        const file = this.#files.get(request.value);
        return file
          ? this.#fileAnswer(file)
          : notFound(`file "${callerText(request.value)}" is not known to this server`);
      }
      case "fileContainingSymbol": {
        const file = this.#symbols.get(stripDot(request.value));
        return file
          ? this.#fileAnswer(file)
          : notFound(`symbol "${callerText(request.value)}" is not known to this server`);
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value;
        const file = this.#extensions.get(stripDot(containingType))?.get(extensionNumber);
        return file
          ? this.#fileAnswer(file)
          : notFound(`no extension ${extensionNumber} of "${callerText(containingType)}" is known`);
      }
      case "allExtensionNumbersOfType": {
        const typeName = stripDot(request.value);
        if (!this.#messages.has(typeName)) {
          return notFound(
            `message type "${callerText(request.value)}" is not known to this server`,
          );
        }
        return {
          case: "allExtensionNumbersResponse",
          value: {
            baseTypeName: typeName,
            extensionNumber: [...(this.#extensions.get(typeName)?.keys() ?? [])],
          },
        };
      }
      default:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "the request asks for nothing" },
        };
    }
  }

  /** file, then its transitive dependencies, each once. */
  #fileAnswer(file: DescFile): ReflectionAnswer {
    const ordered: DescFile[] = [];
    const seen = new Set<DescFile>();
    const visit = (f: DescFile) => {
      if (seen.has(f)) return;
      seen.add(f);
      ordered.push(f);
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: ordered.map((f) => this.#serialize(f)) },
    };
  }

  #serialize(file: DescFile): Uint8Array {
    let bytes = this.#serialized.get(file);
    if (!bytes) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#serialized.set(file, bytes);
    }
    return bytes;
  }

  #addFile(file: DescFile): void {
    const name = file.proto.name;
    if (this.#files.has(name)) return;
    this.#files.set(name, file);
    for (const dep of file.dependencies) this.#addFile(dep);
    const symbol = (fullName: string) => {
      if (!this.#symbols.has(fullName)) this.#symbols.set(fullName, file);
    };
    const addExtension = (ext: DescFile["extensions"][number]) => {
      symbol(ext.typeName);
      const numbers = this.#extensions.get(ext.extendee.typeName) ?? new Map<number, DescFile>();
      numbers.set(ext.number, file);
      this.#extensions.set(ext.extendee.typeName, numbers);
    };
    const addEnum = (e: DescFile["enums"][number]) => {
      symbol(e.typeName);
      // Enum values are scoped like their enum's siblings (C++ scoping).
      const scope = e.typeName.slice(0, e.typeName.lastIndexOf(".") + 1);
      for (const value of e.values) symbol(scope + value.name);
    };
    const addMessage = (m: DescFile["messages"][number]) => {
      symbol(m.typeName);
      this.#messages.add(m.typeName);
      for (const field of m.fields) symbol(`${m.typeName}.${field.name}`);
      for (const oneof of m.oneofs) symbol(`${m.typeName}.${oneof.name}`);
      for (const nested of m.nestedMessages) addMessage(nested);
      for (const nested of m.nestedEnums) addEnum(nested);
      for (const ext of m.nestedExtensions) addExtension(ext);
    };
    for (const m of file.messages) addMessage(m);
    for (const e of file.enums) addEnum(e);
    for (const ext of file.extensions) addExtension(ext);
    for (const service of file.services) {
      symbol(service.typeName);
      for (const method of service.methods) symbol(`${service.typeName}.${method.name}`);
    }
  }
}

function notFound(errorMessage: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } };
}

/** Some clients send ".pkg.Type". */
function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

/** grpc.reflection.v1.ServerReflection over index. */
export function createReflectionServiceV1(
  index: ReflectionIndex,
): ServiceImpl<typeof ServerReflectionV1> {
  return {
    async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequestV1>) {
      for await (const request of requests) {
        const response: ServerReflectionResponseV1 = create(ServerReflectionResponseSchemaV1, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: index.answer(request.messageRequest),
        });
        yield response;
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection over index (same messages, older package). */
export function createReflectionServiceV1alpha(
  index: ReflectionIndex,
): ServiceImpl<typeof ServerReflectionV1alpha> {
  return {
    async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequestV1alpha>) {
      for await (const request of requests) {
        const response: ServerReflectionResponseV1alpha = create(
          ServerReflectionResponseSchemaV1alpha,
          {
            validHost: request.host,
            originalRequest: request,
            messageResponse: index.answer(request.messageRequest),
          },
        );
        yield response;
      }
    },
  };
}

/** The reflection services, both versions. */
export const reflectionServices = [ServerReflectionV1, ServerReflectionV1alpha] as const;
